//! The console's `/billing` pages.
