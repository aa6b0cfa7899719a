"""Rules as dated data: the procedure catalogue (versions with effective dates), the agency list, and the
validator that every rules release passes before it is published (design.md, "Time, calendar and rules")."""
