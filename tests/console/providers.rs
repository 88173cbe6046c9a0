//! The console's `/providers` pages.
