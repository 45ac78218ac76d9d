"""Creating and removing an Azure deployment's resources (:mod:`.resources`)."""
