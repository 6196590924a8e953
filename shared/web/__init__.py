"""Pages: sessions, layout, catalogues and forms shared by every service."""
