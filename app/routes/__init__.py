"""HTTP routes: thin handlers over the registry, inputs and predict modules."""
