//! The Logical Data Structure files of an eMRTD (ICAO 9303-10): EF.COM and the data
//! groups, parsed from the bytes read off the card.
