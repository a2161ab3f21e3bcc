"""The platform's own sources (SPEC §9): Bronze in MongoDB, Silver and Gold in the warehouse."""
