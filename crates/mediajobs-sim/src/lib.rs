//! An independent simulator of the VibePeak, VideoGen and Vidiking APIs, in sim time, with faults.
#![deny(missing_docs)]
