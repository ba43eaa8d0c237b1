"""The validator: every rule of the ABI document and the kernel profiles, and the catalogue
of its rules."""
