"""Infrastructure below the use cases: guarded URL fetching, image decoding and normalising, zip
reading. It knows the domain's errors and nothing of records, jobs or the web."""
