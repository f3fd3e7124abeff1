//! The Logical Data Structure files of an eMRTD (ICAO 9303-10): EF.COM and the data
//! groups, parsed from the bytes read off the card.
//!
//! - [`LdsFile`] and [`DataGroup`]: file identifiers, short file identifiers and tags
//!   (ICAO 9303-10 §4.6).
//! - [`Mrz`] and [`check_digit`]: the machine readable zone of TD1, TD2 and TD3
//!   documents with every check digit verified (ICAO 9303-3 to -6), and the
//!   [`key_seed_input`](Mrz::key_seed_input) from which BAC and PACE derive the access
//!   key (ICAO 9303-11 §4.2.2, §9.7.1).
//! - [`Dg1`], [`EfCom`], [`Dg2`], [`Dg11`], [`Dg12`], [`Dg14`], [`Dg15`]: the files
//!   (ICAO 9303-10 §4.6.1, §4.7).
//!
//! Every parser takes untrusted bytes and never panics; every length is checked before
//! use. Errors are [`LdsError`]s that say what is wrong and where, never quoting the data.
//! [`Mrz`], [`Dg1`], [`Dg11`], [`Dg12`], [`Name`], [`FaceImage`] and [`UnknownObject`]
//! print no personal data with [`Debug`](std::fmt::Debug).
//!
//! ```
//! use sesame_protocol::lds::{DataGroup, EfCom};
//! // ICAO 9303-11 Appendix D.4.
//! let com = EfCom::parse(&[
//!     0x60, 0x14, 0x5F, 0x01, 0x04, b'0', b'1', b'0', b'6', 0x5F, 0x36, 0x06, b'0', b'4',
//!     b'0', b'0', b'0', b'0', 0x5C, 0x02, 0x61, 0x75,
//! ])?;
//! assert_eq!(com.lds_version.to_string(), "1.6");
//! assert_eq!(com.data_groups, [DataGroup::Dg1, DataGroup::Dg2]);
//! # Ok::<(), sesame_protocol::lds::LdsError>(())
//! ```

mod com;
mod common;
mod dg1;
mod dg11;
mod dg12;
mod dg2;
mod error;
mod files;
mod mrz;
mod raw;

pub use com::{EfCom, LdsVersion, UnicodeVersion};
pub use common::{DateTime, FullDate, Name, UnknownObject};
pub use dg1::Dg1;
pub use dg2::{Dg2, FaceImage, ImageFormat};
pub use dg11::Dg11;
pub use dg12::Dg12;
pub use error::{CheckDigitField, LdsError, MrzField};
pub use files::{DataGroup, LdsFile};
pub use mrz::{Mrz, MrzDate, MrzFormat, Sex, check_digit};
pub use raw::{Dg14, Dg15, unwrap_file};

/// Entry point for the LDS fuzz target (`fuzz/fuzz_targets/`), so that the fuzzer
/// exercises exactly the code the tests do. Not part of the stable API.
#[doc(hidden)]
pub mod internal {
    #![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

    use super::{
        DataGroup, Dg1, Dg2, Dg11, Dg12, Dg14, Dg15, EfCom, LdsFile, Mrz, check_digit, unwrap_file,
    };

    /// Feeds `data` to every LDS parser. None may panic; what they return must be
    /// consistent with the input (images and unwrapped contents no longer than it, an
    /// MRZ's check digits and key seed input well formed).
    pub fn fuzz_lds(data: &[u8]) {
        if let Ok(text) = std::str::from_utf8(data) {
            if let Ok(mrz) = Mrz::parse(text) {
                check_mrz(&mrz);
            }
            let _ = check_digit(text);
        }
        if let Ok(dg1) = Dg1::parse(data) {
            check_mrz(&dg1.mrz);
        }
        if let Ok(com) = EfCom::parse(data) {
            assert!(com.data_groups.len() + com.unknown_tags.len() <= data.len());
        }
        if let Ok(dg2) = Dg2::parse(data) {
            for face in &dg2.faces {
                assert!(face.data.len() <= data.len());
                assert!(face.format.matches(&face.data));
            }
        }
        let _ = Dg11::parse(data);
        let _ = Dg12::parse(data);
        if let Ok(dg14) = Dg14::parse(data) {
            assert!(dg14.security_infos.len() < data.len());
        }
        let _ = Dg15::parse(data);
        for dg in DataGroup::ALL {
            if let Ok(content) = unwrap_file(LdsFile::Dg(dg), data) {
                assert!(content.len() < data.len());
            }
        }
    }

    fn check_mrz(mrz: &Mrz) {
        assert_eq!(mrz.as_str().len(), mrz.format().length());
        let seed = mrz.key_seed_input();
        assert!(seed.len() >= 24, "MRZ information too short");
        assert!(seed.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'<'));
        // The MRZ re-parses to itself.
        assert_eq!(&Mrz::parse(mrz.as_str()).unwrap(), mrz);
        assert_eq!(mrz.lines().count(), mrz.format().lines());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fuzz_entry_accepts_every_vector() {
        internal::fuzz_lds(b"");
        internal::fuzz_lds(
            b"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C36UTO7408122F1204159ZE184226B<<<<<10",
        );
        internal::fuzz_lds(&[
            0x60, 0x14, 0x5F, 0x01, 0x04, b'0', b'1', b'0', b'6', 0x5F, 0x36, 0x06, b'0', b'4',
            b'0', b'0', b'0', b'0', 0x5C, 0x02, 0x61, 0x75,
        ]);
    }

    proptest! {
        #[test]
        fn fuzz_entry_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            internal::fuzz_lds(&bytes);
        }
    }
}
