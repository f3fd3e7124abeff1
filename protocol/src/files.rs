//! Reading elementary files (ISO/IEC 7816-4 §11.3.3, ICAO 9303-10 §3.6): READ BINARY with
//! a short EF identifier, so no SELECT is needed, and as much per APDU as the link allows.
//!
//! A file costs one APDU when the card and reader allow extended length (the first read
//! asks for everything), and ⌈size / 223⌉ over a short-APDU secure channel. The first
//! response carries the file's TLV header, which tells how much is left.

use sesame_apdu::tlv::{self, TlvErrorKind};
use sesame_apdu::{Command, StatusWord, Transport, TransportError, exchange};

/// The largest offset READ BINARY (B0) can address in P1-P2.
const MAX_B0_OFFSET: usize = 0x7FFF;
/// The largest file we accept: no eMRTD file comes near it (a DG2 is 15-30 KB), and a
/// card announcing more is misbehaving.
pub const MAX_FILE_SIZE: usize = 1 << 20;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file is not on the card (6A82).
    #[error("the file is not on the card")]
    NotFound,
    /// Reading it needs an access right the terminal has not obtained (6982), e.g. DG3
    /// without Extended Access Control.
    #[error("the card does not allow reading this file")]
    AccessDenied,
    /// Another error status.
    #[error("the card refused to read the file: {0}")]
    Refused(StatusWord),
    /// The file does not start with a valid TLV header, announces more than
    /// [`MAX_FILE_SIZE`], or ends before its announced length.
    #[error("the file on the card is malformed")]
    Malformed,
    /// The exchange failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// Reads the whole file with short EF identifier `sfi` (1 to 30): its length comes from
/// its own BER-TLV header.
///
/// # Errors
/// See [`ReadError`].
pub fn read_file_by_sfi(transport: &mut dyn Transport, sfi: u8) -> Result<Vec<u8>, ReadError> {
    let caps = transport.capabilities();
    let first =
        Command::new(0x00, 0xB0, 0x80 | (sfi & 0x1F), 0x00).with_le(caps.max_response_data.max(1));
    let mut data = read_chunk(transport, &first)?;
    let total = match tlv::announced_size(&data) {
        Ok(total) => total,
        // The first chunk is too short to hold the header (a card that sends little):
        // read a little more before deciding.
        Err(e) if e.kind == TlvErrorKind::Truncated && data.len() < 8 => {
            let more = read_chunk(transport, &read_at(data.len(), 8))?;
            data.extend_from_slice(&more);
            tlv::announced_size(&data).map_err(|_| ReadError::Malformed)?
        }
        Err(_) => return Err(ReadError::Malformed),
    };
    if total > MAX_FILE_SIZE {
        return Err(ReadError::Malformed);
    }
    while data.len() < total {
        let want = (total - data.len()).min(caps.max_response_data.max(1));
        let chunk = read_chunk(transport, &read_at(data.len(), want))?;
        if chunk.is_empty() {
            return Err(ReadError::Malformed);
        }
        data.extend_from_slice(&chunk);
    }
    data.truncate(total);
    Ok(data)
}

/// READ BINARY of `len` bytes at `offset` in the current file: B0 with the offset in
/// P1-P2 up to 32 767, B1 with an offset data object (DO'54) beyond.
fn read_at(offset: usize, len: usize) -> Command {
    if offset <= MAX_B0_OFFSET {
        let [_, _, hi, lo] = u32::try_from(offset).unwrap_or(0).to_be_bytes();
        Command::new(0x00, 0xB0, hi, lo).with_le(len)
    } else {
        let offset_bytes = u32::try_from(offset).unwrap_or(u32::MAX).to_be_bytes();
        let skip = offset_bytes.iter().take_while(|b| **b == 0).count();
        let mut data = vec![0x54];
        tlv::write_length(&mut data, offset_bytes.len() - skip);
        data.extend_from_slice(offset_bytes.get(skip..).unwrap_or(&[]));
        // The answer is wrapped in DO'53: allow for its header.
        Command::new(0x00, 0xB1, 0x00, 0x00)
            .with_data(data)
            .with_le(len + 4)
    }
}

fn read_chunk(transport: &mut dyn Transport, command: &Command) -> Result<Vec<u8>, ReadError> {
    let response = exchange(transport, command)?;
    match response.sw {
        // 6282: end of file reached before Le bytes; the data is good.
        StatusWord::Success | StatusWord::EndOfFile => {}
        StatusWord::FileNotFound => return Err(ReadError::NotFound),
        StatusWord::SecurityStatusNotSatisfied => return Err(ReadError::AccessDenied),
        sw => return Err(ReadError::Refused(sw)),
    }
    if command.ins == 0xB1 {
        // Odd READ BINARY answers with DO'53 around the data.
        let object = tlv::parse_one(&response.data).map_err(|_| ReadError::Malformed)?;
        return Ok(object.value().to_vec());
    }
    Ok(response.data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesame_apdu::{Capabilities, Response};

    /// A card holding one file under SFI 1, answering READ BINARY (B0 with SFI or offset,
    /// B1 with DO'54) and counting APDUs.
    struct FileCard {
        file: Vec<u8>,
        caps: Capabilities,
        apdus: usize,
    }

    impl Transport for FileCard {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
            self.apdus += 1;
            let cmd = Command::parse(command).unwrap();
            let le = cmd.le.unwrap_or(0);
            let offset = match (cmd.ins, cmd.p1) {
                (0xB0, p1) if p1 & 0x80 != 0 => {
                    if p1 & 0x1F != 1 {
                        return Ok(Response::status(StatusWord::FileNotFound).to_bytes());
                    }
                    usize::from(cmd.p2)
                }
                (0xB0, p1) => usize::from(u16::from_be_bytes([p1, cmd.p2])),
                (0xB1, _) => {
                    let o = tlv::parse_one(&cmd.data).unwrap();
                    o.value().iter().fold(0, |a, b| (a << 8) | usize::from(*b))
                }
                _ => return Ok(Response::status(StatusWord::InstructionNotSupported).to_bytes()),
            };
            if offset >= self.file.len() {
                return Ok(Response::status(StatusWord::WrongP1P2).to_bytes());
            }
            let end = (offset + le.min(self.caps.max_response_data)).min(self.file.len());
            let mut data = self.file[offset..end].to_vec();
            let sw = if end - offset < le && end == self.file.len() {
                StatusWord::EndOfFile
            } else {
                StatusWord::Success
            };
            if cmd.ins == 0xB1 {
                let mut wrapped = Vec::new();
                tlv::write(&mut wrapped, tlv::Tag::new(0x53), &data);
                data = wrapped;
            }
            Ok(Response::new(data, sw).to_bytes())
        }
        fn capabilities(&self) -> Capabilities {
            self.caps
        }
    }

    fn file_of(len: usize) -> Vec<u8> {
        let mut file = Vec::new();
        tlv::write(
            &mut file,
            tlv::Tag::new(0x75),
            &(0..len)
                .map(|i| u8::try_from(i % 251).unwrap())
                .collect::<Vec<_>>(),
        );
        file
    }

    #[test]
    fn one_apdu_with_extended_length() {
        let file = file_of(18_000);
        let mut card = FileCard {
            file: file.clone(),
            caps: Capabilities::EXTENDED,
            apdus: 0,
        };
        assert_eq!(read_file_by_sfi(&mut card, 1).unwrap(), file);
        assert_eq!(card.apdus, 1);
    }

    #[test]
    fn short_apdus_read_in_223_byte_chunks() {
        let file = file_of(1000);
        let caps = Capabilities {
            extended_length: false,
            max_command_data: 223,
            max_response_data: 223,
        };
        let mut card = FileCard {
            file: file.clone(),
            caps,
            apdus: 0,
        };
        assert_eq!(read_file_by_sfi(&mut card, 1).unwrap(), file);
        assert_eq!(card.apdus, file.len().div_ceil(223));
    }

    #[test]
    fn offsets_beyond_32767_use_odd_read_binary() {
        let file = file_of(40_000);
        let caps = Capabilities::extended(4096, 4096);
        let mut card = FileCard {
            file: file.clone(),
            caps,
            apdus: 0,
        };
        assert_eq!(read_file_by_sfi(&mut card, 1).unwrap(), file);
    }

    #[test]
    fn missing_and_malformed_files() {
        let mut card = FileCard {
            file: file_of(10),
            caps: Capabilities::EXTENDED,
            apdus: 0,
        };
        assert!(matches!(
            read_file_by_sfi(&mut card, 2),
            Err(ReadError::NotFound)
        ));
        let mut card = FileCard {
            file: vec![0x75, 0x84, 0xFF, 0xFF, 0xFF, 0xFF],
            caps: Capabilities::EXTENDED,
            apdus: 0,
        };
        assert!(matches!(
            read_file_by_sfi(&mut card, 1),
            Err(ReadError::Malformed)
        ));
        let mut card = FileCard {
            file: vec![0x75, 0x82, 0x01, 0x00, 1, 2, 3],
            caps: Capabilities::EXTENDED,
            apdus: 0,
        };
        assert!(read_file_by_sfi(&mut card, 1).is_err());
    }
}
