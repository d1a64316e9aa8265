import type { AuthContext } from '@relais/shared';
import type { CreateCompanyInput, UpdateCompanyInput } from '../contract/parties';
import { customIdKey, patched, type PartyBase } from './parties';
import { SEARCH_VERSION, partySearchKeys, sortKey } from './search';

/** A company the org keeps a file on (a debtor, a client): a party of kind `company`. Pure. */
export interface CompanyDoc extends PartyBase {
  kind: 'company';
  companyName: string;
  legalForm?: string;
  siren?: string;
}

const OPTIONAL_FIELDS = ['legalForm', 'siren', 'customId'] as const;
const FIELDS = ['companyName', ...OPTIONAL_FIELDS] as const;

/** Derived fields kept in step with the name and customId; companies sort by name among people's last names. */
function derived(doc: Pick<CompanyDoc, '_id' | 'companyName' | 'customId'>) {
  return {
    customIdKey: customIdKey(doc.customId, doc._id),
    searchKeys: partySearchKeys({ ...doc, kind: 'company' }),
    searchVersion: SEARCH_VERSION,
    sortKey: sortKey(doc.companyName, '', doc._id),
  };
}

export function newCompany(input: CreateCompanyInput, auth: AuthContext, id: string, now: Date): CompanyDoc {
  const optional = Object.fromEntries(OPTIONAL_FIELDS.flatMap((f) => (input[f] == null ? [] : [[f, input[f]]])));
  const base = { _id: id, companyName: input.companyName, ...optional };
  return {
    ...base,
    orgId: auth.orgId,
    kind: 'company',
    ...derived(base),
    revision: 1,
    createdAt: now,
    createdBy: auth.userId,
    updatedAt: now,
    updatedBy: auth.userId,
  };
}

export type CompanyChanges = Omit<UpdateCompanyInput, 'companyId'>;

/** The company after a partial update (absent kept, null cleared), or null when nothing changes. */
export function applyCompanyChanges(current: CompanyDoc, changes: CompanyChanges, auth: AuthContext, now: Date): CompanyDoc | null {
  const company = patched(current, changes, FIELDS);
  if (!company) return null;
  return { ...company, ...derived(company), revision: current.revision + 1, updatedAt: now, updatedBy: auth.userId };
}

export function toCompany(doc: CompanyDoc) {
  return {
    id: doc._id,
    kind: doc.kind,
    companyName: doc.companyName,
    ...(doc.legalForm !== undefined ? { legalForm: doc.legalForm } : {}),
    ...(doc.siren !== undefined ? { siren: doc.siren } : {}),
    ...(doc.customId !== undefined ? { customId: doc.customId } : {}),
    createdAt: doc.createdAt.toISOString(),
    createdBy: doc.createdBy,
    updatedAt: doc.updatedAt.toISOString(),
    updatedBy: doc.updatedBy,
  };
}
