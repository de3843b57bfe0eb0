"""Search: a tantivy index derived from the table, answered from memory.

How a request flows (GET /products, chalicelib/api/search.py):

    index_store.IndexReader.get()  the current index version, loaded from S3 at
                                   cold start, swapped when a newer one is published
    service.search_products()      understands the words (query.py), ranks the
                                   whole result in the index, counts the facets,
                                   reads the page's products from the table
    service.result_page()          the answer: items with highlights, the query
                                   as understood, the facets
    service.best_sellers()         GET /products/best-sellers: the most units sold
                                   (the products' sales counters, in the index)

And how the index stays current (chalicelib/api/indexer.py): the table's
stream -> indexing.Indexer.apply() -> a new version in S3 (index_store.py).
Modules: language.py (folding, stemming, typos, synonyms), index.py (schema,
documents, vocabulary), query.py (understanding, queries, relaxation),
service.py, results.py (what a search takes and answers), index_store.py
(versions in S3), indexing.py (stream batches and rebuilds).
Only the search and indexer functions import this package's engine (tantivy).
"""
