//! JavaScript shared by the JavaScript adapters (QuickJS and Boa): the lockdown and scrub scripts that implement
//! the isolation policies. The engine-neutral parts of isolation live here so that both engines behave alike.
