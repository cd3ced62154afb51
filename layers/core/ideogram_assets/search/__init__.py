"""Search over generation records: index words, query planning over index items and GSIs, cursors."""
