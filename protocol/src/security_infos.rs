//! SecurityInfos (ICAO 9303-11 §9.2, BSI TR-03110-3 A.1): the DER structures of
//! EF.CardAccess, EF.CardSecurity and DG14 that tell a terminal which protocols a chip
//! supports.
