"""Review: experts, conflicts, assignment, dossier pull, scoring, lists."""
