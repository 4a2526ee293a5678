"""capsim: power-procurement capacity simulator for data-centre portfolios."""

__version__ = "0.1.0"
