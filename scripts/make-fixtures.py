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
- .xlsx workbooks as Excel writes them (shared strings, phones typed as numbers, a date cell
  with its number format, a boolean, two sheets), written with the standard library's zipfile
  so nothing needs installing; and hostile ones (a zip bomb, a shared-strings table that
  announces billions of strings, a header of ten million columns) for the bounds.
"""

import os
import sys
import zipfile

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
    write_xlsx(os.path.join(OUT, "excel.xlsx"), EXCEL_SHEETS)
    write_hostile()


# Workbooks, as Excel writes them: [Content_Types].xml, the package and workbook relationships,
# the workbook, styles (a date number format), shared strings and one XML part per sheet.
XLSX_HEADER = ["手机号码", "客户姓名", "客户编号", "套餐", "月消费", "开户日期", "已签约"]
# A phone typed into Excel is a number (stored as 13800138000, or 1.3800138E10 in the XML);
# 月消费 is a number, 开户日期 a date (serial 45292 = 2024-01-01), 已签约 a boolean.
EXCEL_SHEETS = [
    ("客户", [XLSX_HEADER,
             [13800138000, "王芳", "C-0001", "全球通 88", 128.5, ("date", 45292), True],
             ["139 0013 9001", "李雷", "C-0002", "动感地带", 56, ("date", 45293.5), False],
             [1.3700137002e10, "张伟", "C-0003", "5G 畅享", 199, None, None],
             [12, "赵敏", "C-0004", "神州行", 18, None, None]]),
    ("备用", [["phone", "name"], [13900000001, "备用联系人"]]),
]


def esc(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def col_name(i):
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def sheet_xml(rows, strings):
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
           'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
    for r, row in enumerate(rows, 1):
        out.append(f'<row r="{r}">')
        for c, v in enumerate(row):
            ref = f"{col_name(c)}{r}"
            if v is None:
                continue
            if isinstance(v, bool):
                out.append(f'<c r="{ref}" t="b"><v>{int(v)}</v></c>')
            elif isinstance(v, tuple):  # a date: a number with the date style (s="1")
                out.append(f'<c r="{ref}" s="1"><v>{v[1]}</v></c>')
            elif isinstance(v, (int, float)):
                out.append(f'<c r="{ref}"><v>{repr(v) if isinstance(v, float) else v}</v></c>')
            else:
                if v not in strings:
                    strings[v] = len(strings)
                out.append(f'<c r="{ref}" t="s"><v>{strings[v]}</v></c>')
        out.append("</row>")
    out.append("</sheetData></worksheet>")
    return "".join(out)


def write_xlsx(path, sheets, shared=None, extra=None):
    """sheets: [(name, rows or ready XML)]. `shared`: ready sharedStrings XML instead."""
    strings = {}
    parts = {}
    for i, (_, rows) in enumerate(sheets, 1):
        parts[f"xl/worksheets/sheet{i}.xml"] = rows if isinstance(rows, (str, bytes)) \
            else sheet_xml(rows, strings)
    if shared is None:
        shared = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns='
                  '"http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                  f'count="{len(strings)}" uniqueCount="{len(strings)}">'
                  + "".join(f"<si><t>{esc(s)}</t></si>" for s in strings) + "</sst>")
    ns = "http://schemas.openxmlformats.org"
    ct = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="{ns}/package/'
          '2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxml'
          'formats-package.relationships+xml"/><Default Extension="xml" ContentType='
          '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
          'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                    for i in range(1, len(sheets) + 1))
          + '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxml'
          'formats-officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/'
          'styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml'
          '.styles+xml"/></Types>')
    rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns='
            f'"{ns}/package/2006/relationships"><Relationship Id="rId1" Type="{ns}/'
            'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>')
    book = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{ns}/'
            f'spreadsheetml/2006/main" xmlns:r="{ns}/officeDocument/2006/relationships"><sheets>'
            + "".join(f'<sheet name="{esc(n)}" sheetId="{i}" r:id="rId{i}"/>'
                      for i, (n, _) in enumerate(sheets, 1)) + "</sheets></workbook>")
    n = len(sheets)
    book_rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
                 f'xmlns="{ns}/package/2006/relationships">'
                 + "".join(f'<Relationship Id="rId{i}" Type="{ns}/officeDocument/2006/'
                           f'relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
                           for i in range(1, n + 1))
                 + f'<Relationship Id="rId{n + 1}" Type="{ns}/officeDocument/2006/relationships'
                 f'/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId{n + 2}" '
                 f'Type="{ns}/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
                 '</Relationships>')
    # Style 1: the built-in date format 14 (Excel's short date).
    styles = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{ns}'
              '/spreadsheetml/2006/main"><fonts count="1"><font/></fonts><fills count="1"><fill/>'
              '</fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf/>'
              '</cellStyleXfs><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" '
              'applyNumberFormat="1"/></cellXfs></styleSheet>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ct)
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.xml", book)
        z.writestr("xl/_rels/workbook.xml.rels", book_rels)
        z.writestr("xl/styles.xml", styles)
        z.writestr("xl/sharedStrings.xml", shared)
        for name, xml in parts.items():
            z.writestr(name, xml)
        for name, data in (extra or {}).items():
            z.writestr(name, data)


def write_hostile():
    head = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns='
            '"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
    tail = "</sheetData></worksheet>"
    # A zip bomb: one cell of 100 MB of digits, ~100 KB compressed.
    bomb = head + '<row r="1"><c r="A1"><v>' + "1" * (100 * 1024 * 1024) + "</v></c></row>" + tail
    write_xlsx(os.path.join(OUT, "bomb-cell.xlsx"), [("客户", bomb)])
    # A shared-strings table that announces four billion strings (a reader that reserves room
    # for them asks for ~100 GB).
    sst = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas'
           '.openxmlformats.org/spreadsheetml/2006/main" count="4000000000" uniqueCount='
           '"4000000000"><si><t>phone</t></si></sst>')
    write_xlsx(os.path.join(OUT, "bomb-strings.xlsx"),
               [("客户", head + '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' + tail)],
               shared=sst)
    # A header row of ten million cells (no `r` on them, as some writers do), ~150 MB of XML.
    wide = head + '<row r="1"><c t="inlineStr"><is><t>phone</t></is></c>' \
        + "<c><v>1</v></c>" * 10_000_000 + "</row>" + tail
    write_xlsx(os.path.join(OUT, "wide-header.xlsx"), [("客户", wide)])


def big_xlsx(path, rows):
    """A workbook of `rows` contacts (phones as numbers, names as shared strings), for the
    memory test and the benchmark: python3 scripts/make-fixtures.py --big-xlsx PATH ROWS"""
    head = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns='
            '"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
    names = ["王芳", "李雷", "张伟", "赵敏", "刘洋", "陈静", "杨帆", "黄磊"]
    body = ['<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
            '<c r="C1" t="s"><v>2</v></c></row>']
    for i in range(rows):
        r = i + 2
        body.append(f'<row r="{r}"><c r="A{r}"><v>{13000000000 + i}</v></c><c r="B{r}" t="s">'
                    f'<v>{3 + i % len(names)}</v></c><c r="C{r}"><v>{i % 300}</v></c></row>')
    sheet = head + "".join(body) + "</sheetData></worksheet>"
    strings = ["手机号码", "客户姓名", "月消费"] + names
    sst = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas'
           '.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">'
           % (len(strings), len(strings)) + "".join(f"<si><t>{s}</t></si>" for s in strings)
           + "</sst>")
    write_xlsx(path, [("客户", sheet)], shared=sst)

if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--big-xlsx":
        big_xlsx(sys.argv[2], int(sys.argv[3]))
    else:
        main()
