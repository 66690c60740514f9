//! The policies step's integration tests, in one binary because each test binary links
//! the whole AWS SDK.

mod emulator;
