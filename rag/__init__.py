"""Trợ lý Báo cáo: offline, cited question answering over Vietnamese government reports."""
from .config import Settings

__all__ = ["Settings"]
