//! The chip photo (DG2) as an image a browser shows: JPEG as it is, JPEG 2000 (which
//! browsers other than Safari do not display) decoded here, in pure Rust
//! (`hayro-jpeg2000`), and re-encoded as PNG. The photo is biometric data: it is kept in
//! memory for the counter page only, never written to disk or to the journal.

use sesame_protocol::lds::{Dg2, FaceImage, ImageFormat};

/// Why a photo cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// DG2 does not parse.
    #[error("the photo (DG2) is malformed: {0}")]
    Dg2(String),
    /// DG2 holds no image.
    #[error("the document holds no photo")]
    NoFace,
    /// The JPEG 2000 image does not decode.
    #[error("the JPEG 2000 photo does not decode: {0}")]
    Jpeg2000(String),
    /// Re-encoding failed.
    #[error("the photo could not be converted: {0}")]
    Png(String),
}

/// A photo ready for a browser.
#[derive(Clone, PartialEq, Eq)]
pub struct Photo {
    /// `image/jpeg` or `image/png`.
    pub mime: &'static str,
    /// The encoded image.
    pub bytes: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The chip's own format.
    pub source_format: ImageFormat,
}

impl std::fmt::Debug for Photo {
    /// Size and type, never the image.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Photo")
            .field("mime", &self.mime)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// The first face of DG2 (as read from the chip), ready to show.
///
/// # Errors
/// [`PhotoError`].
pub fn from_dg2(dg2: &[u8]) -> Result<Photo, PhotoError> {
    let parsed = Dg2::parse(dg2).map_err(|e| PhotoError::Dg2(e.to_string()))?;
    let face = parsed.faces.first().ok_or(PhotoError::NoFace)?;
    displayable(face)
}

/// One face, ready to show.
///
/// # Errors
/// [`PhotoError`].
pub fn displayable(face: &FaceImage) -> Result<Photo, PhotoError> {
    match face.format {
        ImageFormat::Jpeg => Ok(Photo {
            mime: "image/jpeg",
            bytes: face.data.clone(),
            width: u32::from(face.width),
            height: u32::from(face.height),
            source_format: ImageFormat::Jpeg,
        }),
        ImageFormat::Jpeg2000 => jpeg2000_to_png(&face.data),
    }
}

fn jpeg2000_to_png(data: &[u8]) -> Result<Photo, PhotoError> {
    use hayro_jpeg2000::{ColorSpace, DecodeSettings, Image};
    let image = Image::new(data, &DecodeSettings::default())
        .map_err(|e| PhotoError::Jpeg2000(format!("{e:?}")))?;
    let (width, height) = (image.width(), image.height());
    let alpha = image.has_alpha();
    let color = match (image.color_space(), alpha) {
        (ColorSpace::Gray, false) => png::ColorType::Grayscale,
        (ColorSpace::Gray, true) => png::ColorType::GrayscaleAlpha,
        (ColorSpace::RGB, false) => png::ColorType::Rgb,
        (ColorSpace::RGB, true) => png::ColorType::Rgba,
        (other, _) => {
            return Err(PhotoError::Jpeg2000(format!(
                "unsupported colour space {other:?}"
            )));
        }
    };
    let pixels = image
        .decode()
        .map_err(|e| PhotoError::Jpeg2000(format!("{e:?}")))?;
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .map_err(|e| PhotoError::Png(e.to_string()))?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| PhotoError::Png(e.to_string()))?;
    }
    Ok(Photo {
        mime: "image/png",
        bytes,
        width,
        height,
        source_format: ImageFormat::Jpeg2000,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn face(format: ImageFormat, data: &[u8], width: u16, height: u16) -> FaceImage {
        FaceImage {
            format,
            width,
            height,
            data: data.to_vec(),
        }
    }

    #[test]
    fn jpeg_is_shown_as_it_is() {
        let jpeg = include_bytes!("../../emulator/profiles/face.jpg");
        let photo = displayable(&face(ImageFormat::Jpeg, jpeg, 240, 320)).unwrap();
        assert_eq!(photo.mime, "image/jpeg");
        assert_eq!(photo.bytes, jpeg);
    }

    #[test]
    fn jpeg_2000_is_decoded_to_png_of_the_same_size() {
        let jp2 = include_bytes!("../../emulator/profiles/face.jp2");
        let photo = displayable(&face(ImageFormat::Jpeg2000, jp2, 0, 0)).unwrap();
        assert_eq!(photo.mime, "image/png");
        assert_eq!(&photo.bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(&photo.bytes));
        let reader = decoder.read_info().unwrap();
        assert_eq!(
            (reader.info().width, reader.info().height),
            (photo.width, photo.height)
        );
        assert!(photo.width > 0 && photo.height > 0);
    }

    #[test]
    fn a_broken_jpeg_2000_is_an_error_not_a_panic() {
        let jp2 = include_bytes!("../../emulator/profiles/face.jp2");
        for cut in [0, 12, 100, jp2.len() / 2] {
            let result = displayable(&face(ImageFormat::Jpeg2000, &jp2[..cut], 0, 0));
            assert!(result.is_err(), "cut at {cut}");
        }
    }
}
