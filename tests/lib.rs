//! Integration tests: the real `factotum` binary on real files.

mod airflow;
mod cli;
mod commands;
mod compat;
mod dot;
mod dsl;
mod editors;
mod engines;
mod export;
mod faults;
mod history;
mod hostile;
mod locks;
mod locks_postgres;
mod output;
mod postgres;
mod resume;
mod run;
mod samples;
mod slurm;
mod snapshots;
mod store_postgres;
mod templates;
mod test;
mod webhooks;
