//! Elliptic-curve arithmetic for PACE and Chip Authentication, on byte encodings so that
//! the protocols stay curve-agnostic: points are SEC 1 uncompressed (`04 || x || y`),
//! scalars big-endian. Implemented for the curves eMRTDs use: brainpoolP256r1 (the CNIe),
//! brainpoolP384r1, NIST P-256 and P-384 (RustCrypto `bp256`, `bp384`, `p256`, `p384`).

use elliptic_curve::group::{Curve as _, Group};
use elliptic_curve::ops::Reduce;
use elliptic_curve::sec1::{FromSec1Point, ModulusSize, ToSec1Point};
use elliptic_curve::{
    AffinePoint, CurveArithmetic, FieldBytes, FieldBytesSize, ProjectivePoint, Scalar,
};
use zeroize::Zeroizing;

use crate::random::{RandomError, RandomSource};
pub use crate::security_infos::Curve;

/// A point or scalar that is not valid on the curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EcError {
    /// Bytes that are not an uncompressed point on the curve, or the point at infinity.
    #[error("not a valid point on the curve")]
    InvalidPoint,
    /// A scalar of the wrong length, or zero.
    #[error("not a valid scalar for the curve")]
    InvalidScalar,
    /// No randomness.
    #[error(transparent)]
    Random(#[from] RandomError),
}

impl Curve {
    /// A random scalar in [1, n-1] (an ephemeral private key), by rejection sampling:
    /// field-length draws until one is below the group order and not zero. (So a fixed
    /// source replays a worked example's private keys exactly.)
    ///
    /// # Errors
    /// When the random source fails.
    pub fn random_scalar(self, rng: &mut dyn RandomSource) -> Result<Zeroizing<Vec<u8>>, EcError> {
        loop {
            let mut candidate = Zeroizing::new(vec![0u8; self.field_len()]);
            rng.fill(&mut candidate)?;
            if dispatch!(self, C => is_valid_scalar::<C>(&candidate)) {
                return Ok(candidate);
            }
        }
    }

    /// `bytes` (big-endian, any length) reduced modulo the group order, as a scalar.
    #[must_use]
    pub fn reduce(self, bytes: &[u8]) -> Zeroizing<Vec<u8>> {
        dispatch!(self, C => reduce::<C>(bytes))
    }

    /// `scalar · G` for the curve's generator, or for `generator` when given (PACE's
    /// mapped generator).
    ///
    /// # Errors
    /// An invalid scalar or generator.
    pub fn mul_base(self, scalar: &[u8], generator: Option<&[u8]>) -> Result<Vec<u8>, EcError> {
        dispatch!(self, C => mul_base::<C>(scalar, generator))
    }

    /// `scalar · point` (ECDH): the shared point.
    ///
    /// # Errors
    /// An invalid scalar or point.
    pub fn mul(self, scalar: &[u8], point: &[u8]) -> Result<Vec<u8>, EcError> {
        dispatch!(self, C => mul::<C>(scalar, point))
    }

    /// PACE Generic Mapping (ICAO 9303-11 §4.4.3.3.1): `G~ = s · G + H`.
    ///
    /// # Errors
    /// An invalid `h`, or a mapped generator at infinity.
    pub fn map_generic(self, nonce: &[u8], h: &[u8]) -> Result<Vec<u8>, EcError> {
        dispatch!(self, C => map_generic::<C>(nonce, h))
    }

    /// PACE Integrated Mapping's point encoding f_G (ICAO 9303-11 §4.4.3.3.2 and
    /// Appendix B.2, affine coordinates): `r` (the pseudo-random output, big-endian, any
    /// length) is reduced modulo p and encoded to a point.
    ///
    /// # Errors
    /// When the encoding lands on an invalid point (it cannot for a valid curve; checked
    /// all the same).
    pub fn map_integrated(self, r: &[u8]) -> Result<Vec<u8>, EcError> {
        dispatch!(self, C => point_encoding::<C>(r))
    }

    /// The bit length of the field prime p (all supported primes fill their bytes).
    #[must_use]
    pub const fn field_bits(self) -> usize {
        8 * self.field_len()
    }

    /// Checks that `point` is an uncompressed point on the curve, not at infinity.
    ///
    /// # Errors
    /// When it is not.
    pub fn validate(self, point: &[u8]) -> Result<(), EcError> {
        dispatch!(self, C => decode::<C>(point).map(|_| ()))
    }
}

/// Runs `$body` with `$C` bound to the RustCrypto curve type of `$curve`.
macro_rules! dispatch {
    ($curve:expr, $C:ident => $body:expr) => {
        match $curve {
            Curve::BrainpoolP256r1 => {
                type $C = bp256::BrainpoolP256r1;
                $body
            }
            Curve::BrainpoolP384r1 => {
                type $C = bp384::BrainpoolP384r1;
                $body
            }
            Curve::NistP256 => {
                type $C = p256::NistP256;
                $body
            }
            Curve::NistP384 => {
                type $C = p384::NistP384;
                $body
            }
        }
    };
}
use dispatch;

/// The x-coordinate of an uncompressed point (the ECDH shared secret, ICAO 9303-11
/// §9.6: only x is used).
#[must_use]
pub fn x_coordinate(point: &[u8]) -> &[u8] {
    let coordinates = point.get(1..).unwrap_or(&[]);
    coordinates.get(..coordinates.len() / 2).unwrap_or(&[])
}

fn field_bytes<C: CurveArithmetic>(bytes: &[u8]) -> FieldBytes<C> {
    let mut out = FieldBytes::<C>::default();
    let len = out.len();
    let tail = bytes
        .get(bytes.len().saturating_sub(len)..)
        .unwrap_or(bytes);
    if let Some(dst) = out.get_mut(len - tail.len()..) {
        dst.copy_from_slice(tail);
    }
    out
}

/// Reduces a big-endian integer of any length modulo n, byte by byte (Horner's rule in
/// the scalar field), so nonces longer than the field are handled exactly.
fn scalar_from<C: CurveArithmetic>(bytes: &[u8]) -> Scalar<C> {
    let base = Scalar::<C>::from(256u64);
    bytes.iter().fold(Scalar::<C>::from(0u64), |acc, b| {
        acc * base + Scalar::<C>::from(u64::from(*b))
    })
}

fn is_valid_scalar<C: CurveArithmetic>(bytes: &[u8]) -> bool {
    use elliptic_curve::ff::{Field, PrimeField};
    Option::<Scalar<C>>::from(Scalar::<C>::from_repr(field_bytes::<C>(bytes)))
        .is_some_and(|s| !bool::from(s.is_zero()))
}

fn reduce<C: CurveArithmetic>(bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    let scalar = scalar_from::<C>(bytes);
    let repr: FieldBytes<C> = scalar.into();
    Zeroizing::new(repr.to_vec())
}

fn nonzero_scalar<C: CurveArithmetic>(bytes: &[u8]) -> Result<Scalar<C>, EcError> {
    let scalar = <Scalar<C> as Reduce<FieldBytes<C>>>::reduce(&field_bytes::<C>(bytes));
    if bytes.is_empty() || bool::from(elliptic_curve::ff::Field::is_zero(&scalar)) {
        return Err(EcError::InvalidScalar);
    }
    Ok(scalar)
}

fn decode<C>(bytes: &[u8]) -> Result<ProjectivePoint<C>, EcError>
where
    C: CurveArithmetic,
    AffinePoint<C>: FromSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    // Uncompressed only: ICAO 9303-11 §9.4.4 encodes public points uncompressed.
    if bytes.first() != Some(&0x04) {
        return Err(EcError::InvalidPoint);
    }
    let affine = AffinePoint::<C>::from_sec1_bytes(bytes).map_err(|_| EcError::InvalidPoint)?;
    let point = ProjectivePoint::<C>::from(affine);
    if bool::from(point.is_identity()) {
        return Err(EcError::InvalidPoint);
    }
    Ok(point)
}

fn encode<C>(point: ProjectivePoint<C>) -> Result<Vec<u8>, EcError>
where
    C: CurveArithmetic,
    AffinePoint<C>: ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    if bool::from(point.is_identity()) {
        return Err(EcError::InvalidPoint);
    }
    Ok(point.to_affine().to_sec1_point(false).as_bytes().to_vec())
}

fn mul_base<C>(scalar: &[u8], generator: Option<&[u8]>) -> Result<Vec<u8>, EcError>
where
    C: CurveArithmetic,
    AffinePoint<C>: FromSec1Point<C> + ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    let k = nonzero_scalar::<C>(scalar)?;
    let g = match generator {
        Some(bytes) => decode::<C>(bytes)?,
        None => ProjectivePoint::<C>::generator(),
    };
    encode::<C>(g * k)
}

fn mul<C>(scalar: &[u8], point: &[u8]) -> Result<Vec<u8>, EcError>
where
    C: CurveArithmetic,
    AffinePoint<C>: FromSec1Point<C> + ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    mul_base::<C>(scalar, Some(point))
}

fn map_generic<C>(nonce: &[u8], h: &[u8]) -> Result<Vec<u8>, EcError>
where
    C: CurveArithmetic,
    AffinePoint<C>: FromSec1Point<C> + ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    let s = scalar_from::<C>(nonce);
    let h = decode::<C>(h)?;
    encode::<C>(ProjectivePoint::<C>::generator() * s + h)
}

/// f_G of ICAO 9303-11 Appendix B.2 on a curve whose prime p ≡ 3 (mod 4):
/// α = −t², X2 = −b(1 + α + α²)·[a(α + α²)]⁻¹, X3 = α·X2, h2 = X2³ + a·X2 + b,
/// U = t³·h2, A = h2^(p − 1 − (p + 1)/4); the point is (X2, A·h2) when A²·h2 = 1, else
/// (X3, A·U). All four supported curves have cofactor 1.
fn point_encoding<C>(r: &[u8]) -> Result<Vec<u8>, EcError>
where
    C: primeorder::PrimeCurveParams,
    AffinePoint<C>: FromSec1Point<C> + ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    use elliptic_curve::ff::{Field, PrimeField};
    type Fe<C> = <C as elliptic_curve::hazmat::FieldArithmetic>::FieldElement;

    let base = Fe::<C>::from(256u64);
    let t = r.iter().fold(Fe::<C>::ZERO, |acc, b| {
        acc * base + Fe::<C>::from(u64::from(*b))
    });
    let a = C::EQUATION_A;
    let b = C::EQUATION_B;
    let alpha = -t.square();
    let alpha_sum = alpha + alpha.square();
    let denominator =
        Option::<Fe<C>>::from((a * alpha_sum).invert()).ok_or(EcError::InvalidPoint)?;
    let x2 = -b * (Fe::<C>::ONE + alpha_sum) * denominator;
    let x3 = alpha * x2;
    let h2 = x2.square() * x2 + a * x2 + b;
    let u = t.square() * t * h2;

    // The exponent p − 1 − (p + 1)/4 = (3(p − 1) − 2)/4, from p − 1 = −1 in the field.
    let p_minus_1 = (-Fe::<C>::ONE).to_repr();
    let exponent = shift_right_2(&sub_small(&mul3(p_minus_1.as_ref()), 2));
    let big_a = h2.pow_vartime(limbs_le(&exponent));
    let (x, y) = if big_a.square() * h2 == Fe::<C>::ONE {
        (x2, big_a * h2)
    } else {
        (x3, big_a * u)
    };

    let mut encoded = vec![0x04];
    encoded.extend_from_slice(x.to_repr().as_ref());
    encoded.extend_from_slice(y.to_repr().as_ref());
    let point = decode::<C>(&encoded)?;
    encode::<C>(point)
}

/// 3·n for a big-endian unsigned integer.
fn mul3(n: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; n.len() + 1];
    let mut carry = 0u16;
    for (o, d) in out.iter_mut().rev().zip(
        n.iter()
            .rev()
            .map(|d| u16::from(*d))
            .chain(std::iter::once(0)),
    ) {
        let v = d * 3 + carry;
        *o = v.to_be_bytes()[1];
        carry = v >> 8;
    }
    out
}

/// n − k for a big-endian unsigned integer n ≥ k.
fn sub_small(n: &[u8], k: u8) -> Vec<u8> {
    let mut out = n.to_vec();
    let mut borrow = u16::from(k);
    for o in out.iter_mut().rev() {
        let v = u16::from(*o);
        if v >= borrow {
            *o = (v - borrow).to_be_bytes()[1];
            break;
        }
        *o = (v + 256 - borrow).to_be_bytes()[1];
        borrow = 1;
    }
    out
}

/// n / 4 for a big-endian unsigned integer.
fn shift_right_2(n: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(n.len());
    let mut carry = 0u8;
    for d in n {
        out.push((d >> 2) | (carry << 6));
        carry = d & 0x03;
    }
    out
}

/// Big-endian bytes as little-endian 64-bit limbs (for `Field::pow_vartime`).
fn limbs_le(n: &[u8]) -> Vec<u64> {
    n.rchunks(8)
        .map(|chunk| chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_big_integer_helpers() {
        assert_eq!(mul3(&[0x01, 0x00]), [0x00, 0x03, 0x00]);
        assert_eq!(mul3(&[0xFF]), [0x02, 0xFD]);
        assert_eq!(sub_small(&[0x01, 0x00], 2), [0x00, 0xFE]);
        assert_eq!(shift_right_2(&[0x01, 0x00]), [0x00, 0x40]);
        assert_eq!(limbs_le(&[1, 0, 0, 0, 0, 0, 0, 0, 2]), [2, 1]);
    }

    #[test]
    fn generator_times_one_is_the_generator() {
        for curve in [
            Curve::BrainpoolP256r1,
            Curve::BrainpoolP384r1,
            Curve::NistP256,
            Curve::NistP384,
        ] {
            let mut one = vec![0u8; curve.field_len()];
            *one.last_mut().unwrap() = 1;
            let g = curve.mul_base(&one, None).unwrap();
            assert_eq!(g.len(), 1 + 2 * curve.field_len());
            curve.validate(&g).unwrap();
            assert!(curve.validate(&[0x04; 65]).is_err());
            assert!(curve.mul_base(&vec![0u8; curve.field_len()], None).is_err());
        }
    }

    /// Every mapped point lies on the curve, whatever the input.
    #[test]
    fn point_encoding_lands_on_the_curve() {
        for curve in [
            Curve::BrainpoolP256r1,
            Curve::BrainpoolP384r1,
            Curve::NistP256,
            Curve::NistP384,
        ] {
            for seed in 1u8..20 {
                let r: Vec<u8> = (0..curve.field_len() + 8)
                    .map(|i| {
                        seed.wrapping_mul(31)
                            .wrapping_add(u8::try_from(i % 256).unwrap())
                    })
                    .collect();
                let point = curve.map_integrated(&r).unwrap();
                curve.validate(&point).unwrap();
            }
        }
    }
}
