"""``fk shell``: the command (:mod:`.cli`), its interpreter and commands (:mod:`.commands`,
:mod:`.registry`, :mod:`.parse`), the client session (:mod:`.session`), output (:mod:`.render`)
and the interactive prompt (:mod:`.repl`, :mod:`.completion`)."""
