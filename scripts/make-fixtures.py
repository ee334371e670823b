#!/usr/bin/env python3
"""Contact lists written the way office software writes them, for tests/api/files.rs.

Run from the repository root: python3 scripts/make-fixtures.py
Writes tests/fixtures/files/*. The bytes are what the programs write, made by Python's codecs
rather than typed by hand:
- Excel "CSV (逗号分隔)" on Chinese Windows: GBK (code page 936), CRLF, no BOM.
- Excel "Unicode 文本": UTF-16 LE with a BOM, tab-separated, CRLF.
- Excel "CSV UTF-8": UTF-8 with a BOM, CRLF.
- Excel in a locale whose list separator is ';' (most of Europe): semicolon-separated.
- A CRM export whose header names its own columns (mapped with ?mapping=).
- A .xlsx workbook (openpyxl), when openpyxl is installed (`pip install openpyxl`).
"""

import os

OUT = os.path.join("tests", "fixtures", "files")

HEADER = ["手机号码", "客户姓名", "客户编号", "套餐", "月消费"]
ROWS = [
    ["13800138000", "王芳", "C-0001", "全球通 88", "128"],
    ["139 0013 9001", "李雷", "C-0002", "动感地带", "56"],
    ["+86 137-0013-7002", "张伟", "C-0003", "5G 畅享", "199"],
    ["12", "赵敏", "C-0004", "神州行", "18"],  # not a phone: an invalid row
]


def lines(sep):
    return "".join(sep.join(r) + "\r\n" for r in [HEADER] + ROWS)


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    write("excel-gbk.csv", lines(",").encode("gbk"))
    write("excel-unicode-text.txt", lines("\t").encode("utf-16"))  # BOM + LE on every CPython
    write("excel-utf8-bom.csv", lines(",").encode("utf-8-sig"))
    write("excel-semicolon.csv", lines(";").encode("utf-8"))
    crm = [["客户手机", "称呼", "CRM_ID", "备注"]] + [[r[0], r[1], r[2], "回访"] for r in ROWS]
    write("crm-export.csv", "".join(",".join(r) + "\r\n" for r in crm).encode("gb18030"))
    try:
        import openpyxl
    except ImportError:
        print("openpyxl is not installed: no .xlsx fixture")
        return
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "客户"
    for r in [HEADER] + ROWS:
        ws.append(r)
    wb.save(os.path.join(OUT, "excel.xlsx"))


if __name__ == "__main__":
    main()
