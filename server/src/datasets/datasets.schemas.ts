import { Type } from 'typebox';

/**
 * Response schemas of the dataset routes (the SDK's `Dataset`, `DatasetVersion` ... types). They
 * are also what the OpenAPI document shows, and Fastify serialises with them: a field missing here
 * is dropped from the answer, so every presenter field is listed.
 */
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const Str = Type.String();
const Int = Type.Integer();

export const VersionSchema = Type.Object(
  {
    id: Str,
    kind: Type.Union([Type.Literal('draft'), Type.Literal('snapshot')]),
    tag: Nullable(Str),
    changelog: Nullable(Str),
    rootHash: Str,
    fileCount: Int,
    size: Int,
    revision: Int,
    validation: Type.Object({ status: Str, revision: Type.Union([Int, Type.Null()]) }),
    createdAt: Str,
    updatedAt: Str,
    deprecated: Type.Union([Type.Object({ at: Str, reason: Str }), Type.Null()]),
  },
  { $id: 'DatasetVersion' },
);

const DatasetProps = {
  id: Str,
  accession: Str,
  title: Str,
  description: Str,
  license: Str,
  authors: Type.Array(Str),
  modalities: Type.Array(Str),
  profile: Type.Union([Type.Literal('generic'), Type.Literal('bids')]),
  public: Type.Boolean(),
  ownerId: Str,
  quotaBytes: Type.Union([Int, Type.Null()]),
  bidsOptions: Type.Object({ ignoreEmptyFiles: Type.Boolean(), ignoreNiftiHeaders: Type.Boolean() }),
  role: Type.Union([Type.Literal('read'), Type.Literal('edit'), Type.Literal('admin'), Type.Null()]),
  createdAt: Str,
  updatedAt: Str,
};
const Version = Type.Ref('DatasetVersion');

export const DatasetSchema = Type.Object(DatasetProps, { $id: 'Dataset' });
export const DatasetDetailSchema = Type.Object(
  { ...DatasetProps, draft: Type.Union([Version, Type.Null()]), snapshots: Type.Array(Version), latestSnapshot: Nullable(Str) },
  { $id: 'DatasetDetail' },
);

const Facet = Type.Object({ value: Str, count: Int });
export const SearchAnswer = Type.Object({
  datasets: Type.Array(Type.Ref('Dataset')),
  total: Int,
  facets: Type.Object({ modality: Type.Array(Facet), license: Type.Array(Facet) }),
});
export const DetailAnswer = Type.Object({ dataset: Type.Ref('DatasetDetail') });

export const TreeAnswer = Type.Object({
  version: Version,
  path: Str,
  children: Type.Array(
    Type.Object({ name: Str, path: Str, kind: Type.Union([Type.Literal('file'), Type.Literal('folder')]), hash: Str, size: Int, fileCount: Int }),
  ),
});

export const ValidationAnswer = Type.Object({
  version: Version,
  status: Str,
  issues: Type.Array(Type.Object({ code: Str, severity: Type.Union([Type.Literal('error'), Type.Literal('warning')]), file: Nullable(Str), message: Str })),
});

export const CommitAnswer = Type.Object({
  draft: Version,
  changed: Type.Boolean(),
  summary: Type.Object({ added: Int, removed: Int, modified: Int, renamed: Int, unchanged: Int, bytesAdded: Int, bytesRemoved: Int }),
});

export const datasetSchemas = [VersionSchema, DatasetSchema, DatasetDetailSchema];
