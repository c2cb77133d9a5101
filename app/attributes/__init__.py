"""Branch-limited patron attributes: types, values, enforcement, rules and reports."""
