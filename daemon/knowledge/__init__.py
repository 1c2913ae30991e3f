"""The knowledge base: article rows, synced from files or written from mail, and their uses.

`articles` is the store (file articles synced, drafts created, published and edited), which the
workflow and the site call; `rules.kb` holds the pure rules (file format, shape, review, reuse).
The workflow's own modules sit beside it (drafts from tickets, review reminders, suggestions).
"""
