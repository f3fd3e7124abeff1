//! The link to pcscd's vsmartcard `vpcd` driver.
//!
//! vpcd listens on a TCP port (35963 by default) and the virtual card connects to it as
//! a client; pcscd then shows a reader with a card in it. Every message is a frame: a
//! 2-byte big-endian length and that many bytes. A 1-byte frame is a control message
//! from the reader ([`Control`]); a longer one is a command APDU, answered by one frame
//! holding the response APDU. "Get ATR" is answered by a frame holding the ATR.
//!
//! Each answer goes out in a single `write` on a socket with `TCP_NODELAY`: splitting the
//! length from the data makes every APDU wait for a delayed ACK (about 40 ms). The same
//! stall happens the other way: Debian's vpcd 3.3 sends the length and the data of each
//! frame in two writes with Nagle's algorithm on, so the data waits until the card ACKs
//! the length. On Linux the link therefore asks for an immediate ACK (`TCP_QUICKACK`)
//! before every read; measured through pcscd, this takes a SELECT from 48 ms to well
//! under a millisecond.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::CardHandler;

/// The port vpcd listens on by default (`/etc/reader.conf.d/vpcd`).
pub const DEFAULT_PORT: u16 = 35_963;

/// The largest frame vpcd can send: an extended APDU with 65 535 data bytes and Le.
const MAX_FRAME: usize = 4 + 3 + 65_535 + 2;

/// The control messages of the vpcd protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// `00`: the reader turned the field off.
    PowerOff,
    /// `01`: the reader turned the field on.
    PowerOn,
    /// `02`: warm reset.
    Reset,
    /// `04`: the reader asks for the ATR.
    GetAtr,
}

impl Control {
    /// Decodes a control byte.
    #[must_use]
    pub const fn from_byte(b: u8) -> Option<Self> {
        match b {
            0x00 => Some(Self::PowerOff),
            0x01 => Some(Self::PowerOn),
            0x02 => Some(Self::Reset),
            0x04 => Some(Self::GetAtr),
            _ => None,
        }
    }
}

/// What one frame from the reader asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A control message.
    Control(Control),
    /// A command APDU.
    Apdu(Vec<u8>),
}

/// A connection to vpcd, serving one card.
#[derive(Debug)]
pub struct VpcdLink {
    stream: TcpStream,
}

impl VpcdLink {
    /// Connects to vpcd (pcscd must be running with the vpcd driver on that port).
    ///
    /// # Errors
    /// When the connection cannot be made.
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<Self> {
        let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to");
        for addr in addr.to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    return Ok(Self { stream });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Reads the next frame; `None` when vpcd closed the connection.
    ///
    /// # Errors
    /// On I/O errors, or an empty or unknown control frame.
    pub fn read_frame(&mut self) -> io::Result<Option<Frame>> {
        let mut len = [0u8; 2];
        self.quick_ack();
        match self.stream.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let len = usize::from(u16::from_be_bytes(len));
        let mut data = vec![0; len];
        self.quick_ack();
        self.stream.read_exact(&mut data)?;
        match data.as_slice() {
            [] => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "empty vpcd frame",
            )),
            [b] => Control::from_byte(*b)
                .map(|c| Some(Frame::Control(c)))
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("unknown vpcd control byte {b:02X}"),
                    )
                }),
            _ => Ok(Some(Frame::Apdu(data))),
        }
    }

    /// Asks the kernel to ACK what arrives next at once (the flag does not stick, so it is
    /// set before each read). Best effort: a failure only costs latency.
    fn quick_ack(&self) {
        #[cfg(target_os = "linux")]
        {
            let _ = socket2::SockRef::from(&self.stream).set_tcp_quickack(true);
        }
    }

    /// Sends one frame, length and data in a single write.
    ///
    /// # Errors
    /// On I/O errors, or data longer than a frame can hold.
    pub fn write_frame(&mut self, data: &[u8]) -> io::Result<()> {
        let len = u16::try_from(data.len())
            .ok()
            .filter(|_| data.len() <= MAX_FRAME)
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "frame too long for vpcd")
            })?;
        let mut frame = Vec::with_capacity(data.len() + 2);
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(data);
        self.stream.write_all(&frame)
    }

    /// Serves `card` until vpcd closes the connection (pcscd stopped) or `stop` says so
    /// (checked between frames).
    ///
    /// # Errors
    /// On I/O errors.
    pub fn serve(&mut self, card: &mut dyn CardHandler, stop: &dyn Fn() -> bool) -> io::Result<()> {
        while !stop() {
            let Some(frame) = self.read_frame()? else {
                return Ok(());
            };
            match frame {
                Frame::Control(Control::PowerOff) => card.power_off(),
                Frame::Control(Control::PowerOn | Control::Reset) => card.reset(),
                Frame::Control(Control::GetAtr) => self.write_frame(&card.atr())?,
                Frame::Apdu(apdu) => {
                    let response = card.process(&apdu);
                    if card.removed() {
                        // Pulled out mid-exchange: the command is never answered, and the
                        // link closes for every handle on it (a remover may hold one).
                        let _ = self.stream.shutdown(std::net::Shutdown::Both);
                        return Ok(());
                    }
                    self.write_frame(&response)?;
                }
            }
        }
        Ok(())
    }

    /// Closes the connection: pcscd sees the card removed.
    pub fn disconnect(self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }

    /// A handle to shut the connection down from another thread (card removal).
    ///
    /// # Errors
    /// When the socket cannot be duplicated.
    pub fn remover(&self) -> io::Result<CardRemover> {
        Ok(CardRemover {
            stream: self.stream.try_clone()?,
        })
    }
}

/// Pulls the card out of the virtual reader from another thread.
#[derive(Debug)]
pub struct CardRemover {
    stream: TcpStream,
}

impl CardRemover {
    /// Closes the vpcd connection: pcscd reports the card removed, and
    /// [`VpcdLink::serve`] returns.
    pub fn remove(self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MinimalCard;
    use std::net::TcpListener;

    /// Plays vpcd's side over a loopback socket: the frames a reader sends on insertion
    /// and a SELECT, with the answers a card must give.
    #[test]
    fn speaks_the_vpcd_framing() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let card_thread = std::thread::spawn(move || {
            let mut link = VpcdLink::connect(("127.0.0.1", port)).unwrap();
            let mut card = MinimalCard::new();
            link.serve(&mut card, &|| false).unwrap();
        });
        let (mut reader, _) = listener.accept().unwrap();
        let mut exchange = |frame: &[u8], answer_expected: bool| -> Vec<u8> {
            let mut out = u16::try_from(frame.len()).unwrap().to_be_bytes().to_vec();
            out.extend_from_slice(frame);
            reader.write_all(&out).unwrap();
            if !answer_expected {
                return Vec::new();
            }
            let mut len = [0; 2];
            reader.read_exact(&mut len).unwrap();
            let mut data = vec![0; usize::from(u16::from_be_bytes(len))];
            reader.read_exact(&mut data).unwrap();
            data
        };
        exchange(&[0x01], false);
        assert_eq!(exchange(&[0x04], true), MinimalCard::new().atr());
        assert_eq!(
            exchange(&hex_literal::hex!("00A4040C07A0000002471001"), true),
            [0x90, 0x00]
        );
        exchange(&[0x00], false);
        drop(reader);
        card_thread.join().unwrap();
    }
}
