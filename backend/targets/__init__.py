"""Annual district targets and progress against them."""
