"""Lists of children to find (DESIGN §3 Worklist): the region's comparison of the civil register
with the school register, imported as CSV into one `not_enrolled` alert per child and school year."""
