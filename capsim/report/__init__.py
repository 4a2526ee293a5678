"""What people see.

The chart suite, takeaways and the documents (HTML report, PowerPoint deck, Excel workbook).
"""
