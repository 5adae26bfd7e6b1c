"""Password accounts: argon2id hashing (:mod:`.argon2id`), the NIST SP 800-63B rules a new
password follows (:mod:`.sp800_63b`, with the shipped list of common passwords:
:mod:`.common`), the growing delays that slow guessing (:mod:`.throttle`), and what is
stored: credentials and the single-use links mailed for them (:mod:`.store`)."""
