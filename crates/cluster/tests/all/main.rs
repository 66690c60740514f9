//! The cluster step's integration tests, in one binary because each test binary links
//! the whole AWS SDK.

mod emulator;
mod mocked;
