"""The batch sample app: a parent workflow fans a batch out to child workflows, one per chunk, and continues as new
every few chunks; each chunk reserves quota with a local activity and is transformed by a sync activity on the
worker's thread pool; an update resizes the chunks still to come. Its storage service is the dependency."""
