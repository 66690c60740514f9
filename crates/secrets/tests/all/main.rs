//! The secrets step's integration tests (one binary: each links the AWS SDK).

mod emulator;
