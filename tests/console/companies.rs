//! The console's `/companies` pages.
