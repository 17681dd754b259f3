-- Issue 17: the BIDS validator options the bundled examples need were hard-coded; each dataset
-- now says whether its empty placeholder files and NIfTI headers are checked.
ALTER TABLE datasets
  ADD COLUMN bids_ignore_empty_files boolean NOT NULL DEFAULT false,
  ADD COLUMN bids_ignore_nifti_headers boolean NOT NULL DEFAULT false;
