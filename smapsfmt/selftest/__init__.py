"""Self-tests of a kernel's smaps: process shapes with known values, on a kernel image booted
under qemu (``smapsfmt selftest --boot``)."""
