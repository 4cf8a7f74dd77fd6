"""The protocols the core is served over; each imports operations and core, never another transport."""
