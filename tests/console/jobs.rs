//! The console's `/jobs` pages.
