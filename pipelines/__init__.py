"""spaCy pipeline configs and the end-to-end workflow (project.yml); the configs ship in the wheel."""
