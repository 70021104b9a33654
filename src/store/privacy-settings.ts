/**
 * A tenant's privacy choices. Today one: when an end user is erased, whether the bridge also asks the tenant's
 * platform (Chatwoot, a generic CRM) to delete the contact. Off unless the tenant turns it on, because it removes
 * data the bridge does not own (the CRM's conversation history). Deleted with the tenant.
 */
import { Schema, type Connection as MongoConnection, type Model } from 'mongoose';

export interface PrivacySettings {
  /** On erasure of an end user: Chatwoot deletes the contact (an agent token: anonymises it); a generic platform gets `contact.erase`. */
  eraseContactsOnPlatform: boolean;
}

export const DEFAULT_PRIVACY_SETTINGS: Readonly<PrivacySettings> = Object.freeze({ eraseContactsOnPlatform: false });

interface PrivacySettingsDoc extends PrivacySettings {
  /** The tenant id. */
  _id: string;
  updatedAt: Date;
}

const schema = new Schema<PrivacySettingsDoc>(
  {
    _id: { type: String, required: true },
    eraseContactsOnPlatform: { type: Boolean, required: true },
  },
  { timestamps: { createdAt: false, updatedAt: true }, versionKey: false, collection: 'privacy_settings' },
);

export class PrivacySettingsRepository {
  readonly model: Model<PrivacySettingsDoc>;

  constructor(db: MongoConnection) {
    this.model = db.model<PrivacySettingsDoc>('PrivacySettings', schema);
  }

  async get(tenantId: string): Promise<PrivacySettings> {
    const doc = await this.model.findById(tenantId).lean<PrivacySettingsDoc>();
    return { eraseContactsOnPlatform: doc?.eraseContactsOnPlatform ?? DEFAULT_PRIVACY_SETTINGS.eraseContactsOnPlatform };
  }

  async set(tenantId: string, settings: PrivacySettings): Promise<PrivacySettings> {
    await this.model.updateOne({ _id: tenantId }, { $set: { eraseContactsOnPlatform: settings.eraseContactsOnPlatform } }, { upsert: true });
    return this.get(tenantId);
  }

  async delete(tenantId: string): Promise<void> {
    await this.model.deleteOne({ _id: tenantId });
  }
}
