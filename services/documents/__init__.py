"""Documents: inspection of uploaded files, the requirement catalogue, completeness."""
