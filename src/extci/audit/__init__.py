"""Who changed what, when and from where: one entry per change, in the change's transaction."""
