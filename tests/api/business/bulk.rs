//! The nightly billing file.
