"""WOE Anchor Store harness: the few jobs SQL cannot do well on its own."""
