import type { Model, QueryFilter } from 'mongoose';

/**
 * Base of every repository over org-owned documents: orgId is applied by the
 * repository itself, after the caller's filter, so no caller can forget or override it.
 */
export class TenantRepository<T extends { orgId: string }> {
  constructor(protected readonly model: Model<T>) {}

  protected scoped(orgId: string, filter: QueryFilter<T> = {}): QueryFilter<T> {
    return { ...filter, orgId };
  }

  findOne(orgId: string, filter: QueryFilter<T>) {
    return this.model.findOne(this.scoped(orgId, filter)).lean<T>().exec();
  }

  find(orgId: string, filter: QueryFilter<T> = {}) {
    return this.model.find(this.scoped(orgId, filter)).lean<T[]>();
  }

  count(orgId: string, filter: QueryFilter<T> = {}) {
    return this.model.countDocuments(this.scoped(orgId, filter)).exec();
  }
}
