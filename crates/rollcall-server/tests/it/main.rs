//! Integration tests: a real server on 127.0.0.1:0 writing a real SQLite file, driven over HTTP.

mod care;
mod contract;
mod digest;
mod dreamclass;
mod durability;
mod forwarding;
mod hostile;
mod load;
mod local_api;
mod not_taken;
mod openid;
mod ordering;
mod recheck;
mod report_file;
mod report_settings;
mod reports;
mod schools;
mod schools_api;
mod settings;
mod sign_in;
// A tmpfs mounted to fill the disk, `mount` and `id`: Linux tooling.
#[cfg(target_os = "linux")]
mod storage_faults;
mod stream;
mod support;
mod tunnel;
mod ui_tls;
mod viewer;
mod webhook_cases;
