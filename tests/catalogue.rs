//! Rule catalogue: every root cause has rules, every rule has hit and miss fixtures; corpus accuracy.
