"""Live processes: reading /proc safely, freezing the target, exact PSS from the page counts."""
